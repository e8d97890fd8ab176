import { PostgresInitialSchema1795700000000 } from './postgres/1795700000000-initial-schema';
import { PostgresRefreshChainEpochs1795800000000 } from './postgres/1795800000000-refresh-chain-epochs';
import { PostgresNormaliseEmails1795800000001 } from './postgres/1795800000001-normalise-emails';
import { PostgresEmailFlows1796000000000 } from './postgres/1796000000000-email-flows';
import { EmailFlows1796000000000 } from './sqlite/1796000000000-email-flows';
import { SecondFactor1796100000000 } from './sqlite/1796100000000-second-factor';
import { UserRoles1796200000000 } from './sqlite/1796200000000-user-roles';
import { AuditEvents1796300000000 } from './sqlite/1796300000000-audit-events';
import { PostgresAuditEvents1796300000000 } from './postgres/1796300000000-audit-events';
import { PostgresUserRoles1796200000000 } from './postgres/1796200000000-user-roles';
import { PostgresSecondFactor1796100000000 } from './postgres/1796100000000-second-factor';
import { InitialSchema1795664199104 } from './sqlite/1795664199104-initial-schema';
import { AccountDeletion1795667967007 } from './sqlite/1795667967007-account-deletion';
import { AccountDisabling1796400000000 } from './sqlite/1796400000000-account-disabling';
import { PostgresAccountDisabling1796400000000 } from './postgres/1796400000000-account-disabling';
import { RetiredRefreshChain1795669000000 } from './sqlite/1795669000000-retired-refresh-chain';
import { RefreshChainEpochs1795800000000 } from './sqlite/1795800000000-refresh-chain-epochs';
import { NormaliseEmails1795800000001 } from './sqlite/1795800000001-normalise-emails';

/**
 * Every migration of each dialect, oldest first. Listed explicitly so the build output never
 * matters. Each dialect keeps its own set: SQLite's history has to rebuild tables that PostgreSQL
 * alters in place, and a schema change lands in both sets in the same commit.
 */
export const SQLITE_MIGRATIONS = [
  InitialSchema1795664199104,
  AccountDeletion1795667967007,
  RetiredRefreshChain1795669000000,
  RefreshChainEpochs1795800000000,
  NormaliseEmails1795800000001,
  EmailFlows1796000000000,
  SecondFactor1796100000000,
  UserRoles1796200000000,
  AuditEvents1796300000000,
  AccountDisabling1796400000000,
];

export const POSTGRES_MIGRATIONS = [
  PostgresInitialSchema1795700000000,
  PostgresRefreshChainEpochs1795800000000,
  PostgresNormaliseEmails1795800000001,
  PostgresEmailFlows1796000000000,
  PostgresSecondFactor1796100000000,
  PostgresUserRoles1796200000000,
  PostgresAuditEvents1796300000000,
  PostgresAccountDisabling1796400000000,
];
