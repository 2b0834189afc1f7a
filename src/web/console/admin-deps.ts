// What the administrator's pages need from the gateway: the vault and its
// workflow, the next hop a released original goes to, the policy in force,
// the user directory, the data dir (whose spool is the delivery queue) and
// the subject index the search reads.
import type { Policy } from '../../core/policy.js';
import type { Carrier } from '../../delivery/types.js';
import type { SubjectIndex } from '../../quarantine/subject-index.js';
import type { Vault } from '../../quarantine/vault.js';
import type { Workflow } from '../../quarantine/workflow.js';
import type { UserDirectory } from '../../users/directory.js';

export interface AdminDeps {
  vault: Vault;
  workflow: Workflow;
  /** The gateway's next hop (the LGWAN-side MTA): where a released original goes. */
  carrier: Carrier;
  policy: Policy;
  /** The policy file the gateway read at start (absolute), which the policy page's lists are written to; absent: the embedded defaults, not editable. */
  policyFile?: string | undefined;
  users: UserDirectory;
  /** The gateway's data dir: its spool is the delivery queue. */
  dataDir: string;
  subjects: SubjectIndex;
  now: () => Date;
}
