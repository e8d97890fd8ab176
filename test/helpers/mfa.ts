import { TOTP, URI } from 'otpauth';
import type TestAgent from 'supertest/lib/agent';
import { bearer, DEFAULT_PASSWORD } from './test-app';

/**
 * Enrols and verifies an authenticator app for the signed-in user, as the user would: returns the
 * app (its `generate({ timestamp })` gives the codes) and the recovery codes. `atMs` is the time
 * of the verifying code: the app's clock, when a test moves it.
 */
export async function enrolTotp(
  http: TestAgent,
  accessToken: string,
  atMs = Date.now(),
): Promise<{ totp: TOTP; recoveryCodes: string[] }> {
  const enrolment = await http
    .post('/mfa/totp/enroll')
    .set(bearer(accessToken))
    .send({ password: DEFAULT_PASSWORD })
    .expect(200);
  const totp = URI.parse(enrolment.body.otpauthUri as string) as TOTP;
  const verified = await http
    .post('/mfa/totp/verify')
    .set(bearer(accessToken))
    .send({ code: totp.generate({ timestamp: atMs }) })
    .expect(200);
  return { totp, recoveryCodes: verified.body.recoveryCodes as string[] };
}
