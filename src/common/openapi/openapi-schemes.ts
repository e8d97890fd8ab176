/** Names of the OpenAPI security schemes: declared by configureApp, referenced by the routes. */
export const ACCESS_TOKEN_SCHEME = 'access-token';
export const REFRESH_TOKEN_SCHEME = 'refresh-token';
