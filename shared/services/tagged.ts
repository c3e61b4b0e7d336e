/** A response body and the entity tag of what it shows. */
export interface Tagged<T> {
  readonly value: T;
  /** Quoted, as sent in `ETag` and compared with `If-Match`: `"<hex>"`. */
  readonly etag: string;
}
