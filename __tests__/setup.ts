import { Testing } from "cdktf";
// Brings the cdktf matchers' type declarations (toHaveResourceWithProperties, ...) into the test program.
import "cdktf/lib/testing/adapters/jest";

Testing.setupJest();
