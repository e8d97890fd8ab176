import * as argon2 from 'argon2';
import { ARGON2_OPTIONS, PasswordHasher } from './password-hasher.service';

// The real argon2, with its verify watched: every call still does the real work.
jest.mock('argon2', () => {
  const actual = jest.requireActual<typeof import('argon2')>('argon2');
  return { ...actual, verify: jest.fn(actual.verify) };
});

const verifySpy = argon2.verify as jest.MockedFunction<typeof argon2.verify>;
const actual = jest.requireActual<typeof import('argon2')>('argon2');

describe(PasswordHasher.name, () => {
  let hasher: PasswordHasher;

  beforeEach(() => {
    verifySpy.mockClear();
    hasher = new PasswordHasher();
  });

  describe('verify without a stored hash (an unknown email)', () => {
    it('should run one real Argon2id verification against a dummy hash of the same parameters', async () => {
      // Marks the verification's end, to show the answer waits for it.
      let finished = false;
      verifySpy.mockImplementationOnce(async (hash, password) => {
        const valid = await actual.verify(hash, password);
        finished = true;
        return valid;
      });
      await expect(hasher.verify(undefined, 'any-password-at-all')).resolves.toBe(false);
      expect(verifySpy).toHaveBeenCalledTimes(1);
      const [dummy, password] = verifySpy.mock.calls[0];
      expect(password).toBe('any-password-at-all');
      // A real Argon2id hash made with today's parameters: the same work as a wrong password.
      expect(dummy).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
      expect(argon2.needsRehash(dummy, ARGON2_OPTIONS)).toBe(false);
      expect(finished).toBe(true);
    });

    it('should use the one dummy hash made at start-up for every unknown email', async () => {
      await hasher.verify(undefined, 'first-guess');
      await hasher.verify(undefined, 'second-guess');
      expect(verifySpy).toHaveBeenCalledTimes(2);
      expect(verifySpy.mock.calls[1][0]).toBe(verifySpy.mock.calls[0][0]);
    });
  });

  describe('verify with a stored hash', () => {
    it('should run one Argon2id verification, true only for the right password', async () => {
      const stored = await hasher.hash('the-right-password');
      await expect(hasher.verify(stored, 'the-right-password')).resolves.toBe(true);
      await expect(hasher.verify(stored, 'a-wrong-password')).resolves.toBe(false);
      expect(verifySpy.mock.calls).toEqual([
        [stored, 'the-right-password'],
        [stored, 'a-wrong-password'],
      ]);
    });

    it('should answer false, not throw, for a stored value that is no Argon2 hash', async () => {
      await expect(hasher.verify('not-a-hash', 'whatever')).resolves.toBe(false);
    });
  });
});
