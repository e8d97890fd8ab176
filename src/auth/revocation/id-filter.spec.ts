import { randomUUID } from 'node:crypto';
import { IdFilter } from './id-filter';

describe(IdFilter.name, () => {
  it('should never miss an id that was added', () => {
    const filter = new IdFilter();
    const ids = Array.from({ length: 10_000 }, () => randomUUID());
    ids.forEach((id) => filter.add(id));
    expect(ids.every((id) => filter.mightContain(id))).toBe(true);
  });

  it('should rarely claim an id that was not added', () => {
    const filter = new IdFilter();
    for (let i = 0; i < 100_000; i++) {
      filter.add(randomUUID());
    }
    const strangers = Array.from({ length: 100_000 }, () => randomUUID());
    const falsePositives = strangers.filter((id) => filter.mightContain(id)).length;
    // Expected about 100_000 * 100_000 / 2^31 = 4.7.
    expect(falsePositives).toBeLessThan(50);
  });

  it('should keep ids added while a rebuild is running', async () => {
    const filter = new IdFilter();
    filter.add('old');
    let release!: () => void;
    const gate = new Promise<void>((done) => (release = done));
    const rebuilding = filter.rebuild(async (add) => {
      add('kept');
      await gate;
    });
    filter.add('added-meanwhile');
    release();
    await rebuilding;
    expect(filter.mightContain('kept')).toBe(true);
    expect(filter.mightContain('added-meanwhile')).toBe(true);
    expect(filter.mightContain('old')).toBe(false);
  });

  it('should run overlapping rebuilds one after the other without losing an id', async () => {
    const filter = new IdFilter();
    let release!: () => void;
    const gate = new Promise<void>((done) => (release = done));
    const first = filter.rebuild(async (add) => {
      add('a');
      await gate;
    });
    const second = filter.rebuild((add) => {
      add('b');
      return Promise.resolve();
    });
    filter.add('added-during-first');
    release();
    await Promise.all([first, second]);
    filter.add('added-after');
    expect(filter.mightContain('added-during-first')).toBe(true);
    expect(filter.mightContain('added-after')).toBe(true);
    expect(filter.mightContain('b')).toBe(true);
  });

  it('should keep the old contents when loading fails', async () => {
    const filter = new IdFilter();
    filter.add('old');
    await expect(
      filter.rebuild(() => Promise.reject(new Error('database is locked'))),
    ).rejects.toThrow('database is locked');
    expect(filter.mightContain('old')).toBe(true);
  });
});
