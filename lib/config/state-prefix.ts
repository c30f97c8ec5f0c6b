/** Default key prefix of the s3/gcs backends: one folder per environment, one state per stack. */
export function defaultStatePrefix(environmentName: string): string {
  return `cluster-identity/${environmentName}`;
}
