import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JwtAlgorithm, PrivateKeySource } from '../../config/configuration';
import { ConfigError } from '../../config/config.error';

/** The PEM of the ES256 / RS256 private key, read from its file if need be, checked to fit. */
export function readPrivateKey(
  source: PrivateKeySource,
  algorithm: Exclude<JwtAlgorithm, 'HS256'>,
): string {
  let pem: string;
  if ('pem' in source) {
    pem = source.pem;
  } else {
    try {
      pem = readFileSync(source.file, 'utf8');
    } catch {
      throw new ConfigError('JWT_PRIVATE_KEY_FILE', `cannot be read: ${source.file}`);
    }
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEY', 'is not a PEM private key');
  }
  const fits =
    algorithm === 'ES256'
      ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      : key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  if (!fits) {
    throw new ConfigError(
      'JWT_PRIVATE_KEY',
      algorithm === 'ES256'
        ? 'must be an EC P-256 key for ES256'
        : 'must be an RSA key of at least 2048 bits for RS256',
    );
  }
  return pem;
}
