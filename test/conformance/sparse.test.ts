// The suite's data-driven run with every API and data toggle on (push, pull, discovery,
// management, referrers, tags on push, sparse manifests), on a registry started with
// ACCEPT_SPARSE_MANIFESTS=true: every data set of datasets.test.ts plus the sparse one.
import { beforeAll } from "vitest";
import { conformanceDataSets, sparseDataSet } from "./data";
import { describeDataSets } from "./data-run";
import { Client, uniqueRepo } from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry({ vars: { ACCEPT_SPARSE_MANIFESTS: "true" } });
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

describeDataSets(() => c, uniqueRepo("sparse"), [...conformanceDataSets(), sparseDataSet()]);
