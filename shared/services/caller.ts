/** Who is asking, as the HTTP layer read it from a verified token; the services decide what the caller may do. */
export interface Caller {
  /** The token's `sub`: the only identity we trust; a `user_no` in a request is checked against it. */
  readonly subject: string;
  readonly isAdmin: boolean;
}
