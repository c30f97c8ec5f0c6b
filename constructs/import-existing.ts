import { IValidation } from "constructs";
import { TerraformResource } from "cdktf";

/**
 * `resource.importFrom(id)`: a Terraform import block at the resource's own address. cdktf also attaches a
 * validation that runs `terraform version` in a child process — one per imported resource, at every synth —
 * and fails the synth where no terraform binary is on PATH (a CI synth job on a plain Node image, the test
 * suite). Import blocks need Terraform ≥ 1.5, which Terraform itself enforces (and this app requires ≥ 1.10 for
 * S3-native locking), so that one check is dropped again; every other validation stays.
 */
export function importExisting(resource: TerraformResource, id: string): void {
  const validations = (resource.node as unknown as { _validations?: IValidation[] })._validations;
  const before = Array.isArray(validations) ? validations.length : -1;
  resource.importFrom(id);
  // cdktf does not export the class (ValidateTerraformVersion): recognized by name, and only the one just added.
  if (validations && validations.length === before + 1 && validations[before].constructor.name === "ValidateTerraformVersion") validations.splice(before, 1);
}
