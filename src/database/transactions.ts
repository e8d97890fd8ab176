import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { getEntityManagerToken } from '@nestjs/typeorm';
import { Mutex } from 'async-mutex';
import type { EntityManager } from 'typeorm';
import { databaseConfig } from '../config/configuration';
import { isShared } from './data-source-options';

/**
 * An open transaction, handed from a service to the repositories it calls. Services only pass it
 * along; repositories run their statements on it.
 */
export type Transaction = EntityManager;

/**
 * Runs units of work. Every write goes through here, so that each operation that writes several
 * rows commits or fails as one, on both deployment modes.
 */
export abstract class Transactions {
  /** Runs `work` in one transaction: all of its writes commit together, or none does. */
  abstract run<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;

  /**
   * Runs a single statement outside any transaction of ours, or on `tx` when one is open. A single
   * statement is atomic by itself; this only keeps it out of another unit's transaction.
   */
  abstract write<T>(
    tx: Transaction | undefined,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T>;
}

/**
 * PostgreSQL: each transaction has a pooled connection of its own; row locks taken inside it
 * (see the repositories) order the units that touch the same rows, on every instance.
 */
class PooledTransactions extends Transactions {
  constructor(private readonly manager: EntityManager) {
    super();
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.manager.transaction('READ COMMITTED', work);
  }

  write<T>(tx: Transaction | undefined, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return work(tx ?? this.manager);
  }
}

/**
 * SQLite: one connection for the whole process, so a statement issued while a transaction is open
 * would run inside it (and vanish with its rollback). Writers therefore take turns: one unit of
 * work at a time, each write waiting for the open transaction to end. Reads do not wait.
 */
class SerialTransactions extends Transactions {
  private readonly turn = new Mutex();

  constructor(private readonly manager: EntityManager) {
    super();
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.turn.runExclusive(() => this.manager.transaction(work));
  }

  write<T>(tx: Transaction | undefined, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return tx ? work(tx) : this.turn.runExclusive(() => work(this.manager));
  }
}

/** The deployment mode decides the implementation, here and nowhere else in this module. */
@Global()
@Module({
  providers: [
    {
      provide: Transactions,
      inject: [databaseConfig.KEY, getEntityManagerToken()],
      useFactory: (database: ConfigType<typeof databaseConfig>, manager: EntityManager) =>
        isShared(database) ? new PooledTransactions(manager) : new SerialTransactions(manager),
    },
  ],
  exports: [Transactions],
})
export class TransactionsModule {}
