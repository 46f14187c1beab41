/** Who is calling, as far as the network tells: recorded on sessions and audit events. */
export type RequestMeta = {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
};
