import { postgresBackend } from '../store/backends.js';
import { verifyContract } from './verify-contract.js';

verifyContract(postgresBackend);
