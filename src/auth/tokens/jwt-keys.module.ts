import { Logger, Module } from '@nestjs/common';
import {
  AppConfig,
  appConfig,
  AuthConfig,
  authConfig,
  DatabaseConfig,
  databaseConfig,
} from '../../config/configuration';
import { DataEncryption } from '../../common/crypto/data-encryption';
import { JwtKeys } from './jwt-keys';
import { ConfigError } from '../../config/config.error';
import { checkedSecret, resolveJwtSecrets } from './jwt-secrets';
import { readPrivateKey } from './private-key';

/**
 * Turns the configured key into JwtKeys: reads the private key file, or checks the secrets and
 * creates (or finds) the development secret. Runs once per app, at start-up, so a missing or weak
 * key stops the start with a ConfigError naming the variable.
 */
export function createJwtKeys(auth: AuthConfig, app: AppConfig, database: DatabaseConfig): JwtKeys {
  const chainSecret =
    auth.refreshChainKey === undefined
      ? undefined
      : checkedSecret('REFRESH_CHAIN_KEY', auth.refreshChainKey, app.production);
  if (auth.algorithm !== 'HS256') {
    return new JwtKeys(
      {
        algorithm: auth.algorithm,
        privateKeyPem: readPrivateKey(auth.privateKey, auth.algorithm),
      },
      chainSecret,
    );
  }
  if (auth.jwtSecrets.length > 1 && chainSecret === undefined) {
    // Without it the chain key would follow the first secret, and tokens spent before the
    // rotation would no longer be recognised as reuse.
    throw new ConfigError(
      'REFRESH_CHAIN_KEY',
      'is required while JWT_SECRET lists several keys: set it to the secret that signed before ' +
        'the rotation began, so that refresh-token chains and their reuse detection carry across ' +
        'it (see docs/security.md, "Rotating keys")',
    );
  }
  if (database.url !== undefined && auth.jwtSecrets.length === 0) {
    new Logger('JwtKeys').warn(
      'DATABASE_URL without JWT_SECRET: instances share a generated secret only when they share ' +
        'the folder of DB_PATH; set JWT_SECRET for instances on several hosts',
    );
  }
  return new JwtKeys(
    {
      algorithm: 'HS256',
      secrets: resolveJwtSecrets(auth.jwtSecrets, app.production, database.path),
    },
    chainSecret,
  );
}

/**
 * The key that seals secrets at rest: DATA_ENCRYPTION_KEY, or else one derived from the
 * refresh-chain key (which survives JWT_SECRET rotations, not a change of key pair).
 */
export function createDataEncryption(
  auth: AuthConfig,
  app: AppConfig,
  keys: JwtKeys,
): DataEncryption {
  const derived = keys.refreshKey.export();
  if (auth.dataEncryptionKeys.length > 0) {
    // The derived key stays last, for opening only: secrets sealed before DATA_ENCRYPTION_KEY
    // was set still open, and are re-sealed under it at their next use.
    return new DataEncryption([
      ...auth.dataEncryptionKeys.map((key) =>
        checkedSecret('DATA_ENCRYPTION_KEY', key, app.production),
      ),
      derived,
    ]);
  }
  if (app.production) {
    new Logger('DataEncryption').warn(
      'DATA_ENCRYPTION_KEY is not set: second-factor secrets are sealed with a key derived from ' +
        'REFRESH_CHAIN_KEY, or else from the JWT signing key, and replacing that key would make ' +
        'them unreadable; set DATA_ENCRYPTION_KEY',
    );
  }
  return new DataEncryption([derived]);
}

@Module({
  providers: [
    {
      provide: JwtKeys,
      inject: [authConfig.KEY, appConfig.KEY, databaseConfig.KEY],
      useFactory: createJwtKeys,
    },
    {
      provide: DataEncryption,
      inject: [authConfig.KEY, appConfig.KEY, JwtKeys],
      useFactory: createDataEncryption,
    },
  ],
  exports: [JwtKeys, DataEncryption],
})
export class JwtKeysModule {}
