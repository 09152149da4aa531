/**
 * Runs work for the same key one at a time within this instance. With the function deployed at
 * `--max-instances=1`, this serialises every delivery for a budget, so two copies of a message
 * arriving together are handled one after the other and the second finds the first's record.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
