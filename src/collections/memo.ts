/**
 * A small bounded memo for pure string -> value lookups over low-cardinality subjects (hosts, tool
 * names). When full it is cleared rather than evicted one by one: cheap, and a high-cardinality
 * flood (random hosts) costs recomputation, never memory.
 */
export class Memo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly cap: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.cap) this.map.clear();
    this.map.set(key, value);
  }
}
