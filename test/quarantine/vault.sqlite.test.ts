import { sqliteBackend } from '../store/backends.js';
import { vaultSuite } from './vault-suite.js';

vaultSuite(sqliteBackend);
