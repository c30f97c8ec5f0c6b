/** The key pairs global-setup.ts makes for a test run, one directory each, named as a kube-apiserver's key files. */
export const KEY_PAIR_NAMES = ["cluster", "other"] as const;
export type KeyPairName = (typeof KEY_PAIR_NAMES)[number];
export const KEY_FILES = { publicKey: "sa-signer-pkcs8.pub", privateKey: "sa-signer.key" } as const;
