/**
 * What the shared statements need to know of a backend's SQL: only where the dialects truly
 * differ. Statements are written with `?` placeholders; the PostgreSQL backend numbers them
 * once (`$1`, `$2`...), and builders of statements with a varying number of values take the
 * placeholder style as a function (`p(n)`: the n-th value's, 1-based).
 */
export interface SqlDialect {
  /** An empty scope or environment list, as the backend stores it. */
  readonly emptyList: string;
  /** `column` is one of the values of one list parameter (`?`). */
  inList(column: string): string;
}
