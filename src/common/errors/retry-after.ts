/** Seconds a client is asked to wait (`Retry-After`) when a dependency is briefly unavailable. */
export const UNAVAILABLE_RETRY_AFTER = '5';
