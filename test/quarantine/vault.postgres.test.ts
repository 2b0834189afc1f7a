import { postgresBackend } from '../store/backends.js';
import { vaultSuite } from './vault-suite.js';

vaultSuite(postgresBackend);
