/** The console's runtime configuration, served by the gateway as `/config.json`. */
export interface RuntimeConfig {
  /** Base path of the gRPC-web API on the gateway; `/` when it shares the console's origin. */
  apiBasePath: string;
  /** The OIDC issuer people sign in with; null when the gateway has none configured. */
  oidc: { issuer: string; clientId: string } | null;
}
