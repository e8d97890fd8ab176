import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, Repository } from 'typeorm';
import { Transaction, Transactions } from '../../database/transactions';
import { EmailToken, EmailTokenPurpose } from './email-token.entity';

/** 32 bytes from the CSPRNG: 256 bits, 43 characters of base64url. */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** What a new link needs besides its token. */
export interface NewEmailToken {
  userId: string;
  purpose: EmailTokenPurpose;
  email: string;
  sessionId?: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Every query on `email_tokens`; raw tokens pass through here and are never stored. */
@Injectable()
export class EmailTokensRepository {
  constructor(
    @InjectRepository(EmailToken) private readonly tokens: Repository<EmailToken>,
    private readonly transactions: Transactions,
  ) {}

  /**
   * Stores a new link's hash and returns its token, in `tx`: the user's unspent links of the same
   * purpose go at the same moment, so only the newest one works.
   */
  async issue(token: NewEmailToken, tx: Transaction): Promise<string> {
    const raw = randomBytes(TOKEN_BYTES).toString('base64url');
    await this.transactions.write(tx, async (manager) => {
      await manager.delete(EmailToken, {
        userId: token.userId,
        purpose: token.purpose,
        usedAt: IsNull(),
      });
      await manager.insert(EmailToken, {
        id: randomUUID(),
        userId: token.userId,
        purpose: token.purpose,
        tokenHash: hashOf(raw),
        email: token.email,
        sessionId: token.sessionId ?? null,
        createdAt: token.createdAt,
        expiresAt: token.expiresAt,
        usedAt: null,
      });
    });
    return raw;
  }

  /**
   * The link, if it is one of `purpose`, unspent and unexpired; changes nothing. Inside `tx` on
   * PostgreSQL the row stays locked until `tx` ends.
   */
  async findUsable(
    raw: string,
    purpose: EmailTokenPurpose,
    now: Date,
    tx?: Transaction,
  ): Promise<EmailToken | null> {
    if (!TOKEN_PATTERN.test(raw)) {
      return null;
    }
    const query = (tx ?? this.tokens.manager)
      .createQueryBuilder(EmailToken, 'token')
      .where('token.tokenHash = :hash', { hash: hashOf(raw) })
      .andWhere('token.purpose = :purpose', { purpose });
    if (tx?.connection.options.type === 'postgres') {
      query.setLock('for_no_key_update');
    }
    const token = await query.getOne();
    return token && token.usedAt === null && token.expiresAt > now ? token : null;
  }

  /**
   * Spends the link in `tx`: exactly one of several concurrent spends gets it (the row is locked
   * on PostgreSQL, writers take turns on SQLite, and the update is conditional either way).
   */
  async consume(
    raw: string,
    purpose: EmailTokenPurpose,
    now: Date,
    tx: Transaction,
  ): Promise<EmailToken | null> {
    const token = await this.findUsable(raw, purpose, now, tx);
    if (!token) {
      return null;
    }
    const spent = await this.transactions.write(tx, (manager) =>
      manager.update(EmailToken, { id: token.id, usedAt: IsNull() }, { usedAt: now }),
    );
    return spent.affected === 1 ? token : null;
  }

  /**
   * Kills the user's unspent links of these purposes, in `tx`: a credential change or the end of
   * every session also ends what a link sent before it could still do.
   */
  async revokeUnspent(
    userId: string,
    purposes: EmailTokenPurpose[],
    tx: Transaction,
  ): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.delete(EmailToken, { userId, purpose: In(purposes), usedAt: IsNull() }),
    );
  }

  /** Links expired before `before`, spent or not. */
  async purgeExpired(before: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(EmailToken, { expiresAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }
}
