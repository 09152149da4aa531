/**
 * The google-gax module a gax client is given as its documented `gaxInstance`, whose REST stubs
 * hand the answers of the bulk reads (a page of 500 instances, a page of up to 100,000 uptime
 * points, a page of up to 5,000 catalog SKUs) and of a single VM's read over as their JSON
 * parses, where gax converts each into a protobuf message and back into an object with every
 * default filled in: about half the recorder's CPU and most of its allocations at 10,000 VMs,
 * and on a cold start the generated decoders of every type an instance nests. Every other call
 * is decoded by gax as before.
 */
import type * as Gax from 'google-gax';

/**
 * RPCs whose REST answer is the parsed JSON. Their callers read it as proto3 JSON: fields absent
 * rather than defaulted, timestamps as RFC 3339 text, Struct values as plain JSON values.
 */
const PLAIN_JSON_RPCS = new Set([
  '.google.cloud.compute.v1.Instances.AggregatedList',
  '.google.cloud.compute.v1.Instances.Get',
  '.google.monitoring.v3.MetricService.ListTimeSeries',
  '.google.cloud.billing.v1.CloudCatalog.ListSkus',
]);

type Rpc = Gax.protobuf.Method;
type Decoder = (rpc: Rpc, ok: boolean, body: ArrayBuffer) => unknown;
type StubFactory = (
  rpcs: Record<string, Rpc>,
  protocol: string,
  servicePath: string,
  servicePort: number,
  auth: unknown,
  encoder: unknown,
  decoder: Decoder,
  numericEnums: boolean,
  minifyJson: boolean,
) => unknown;

type StubOptions = Gax.ClientStubOptions;

/** The host and port a stub calls, found as gax finds them (an explicit port wins). */
function endpointOf(service: Gax.protobuf.Service, opts: StubOptions): [string, number] {
  const host =
    opts.servicePath ?? (service.options?.['(google.api.default_host)'] as string | undefined);
  if (!host) throw new Error(`Cannot determine service API path for service ${service.name}.`);
  const match = /^(.*):(\d+)$/.exec(host);
  return [match?.[1] ?? host, opts.port ?? (match ? Number(match[2]) : 443)];
}

/**
 * `gax` (the module a client would use, perhaps already customised) with a GrpcClient that
 * decodes the bulk reads as plain JSON.
 */
export async function leanGax(gax: typeof Gax): Promise<typeof Gax> {
  const { createRequire } = await import('node:module');
  // gax's own REST encoder, decoder and stub factory, from the copy the client packages resolve
  // (one copy, which Compute's resolution names, as clients.ts finds it).
  const fromCompute = createRequire(
    createRequire(import.meta.url).resolve('@google-cloud/compute'),
  );
  const gaxRequire = createRequire(fromCompute.resolve('google-gax'));
  const rest = gaxRequire('./fallbackRest.js') as {
    encodeRequest: unknown;
    decodeResponse: Decoder;
  };
  const { generateServiceStub } = gaxRequire('./fallbackServiceStub.js') as {
    generateServiceStub: StubFactory;
  };
  // gax's own table of a service's methods by their JavaScript names (a private static).
  const serviceMethods = (service: Gax.protobuf.Service): Record<string, Rpc> =>
    (
      gax.fallback.GrpcClient as unknown as {
        getServiceMethods(s: Gax.protobuf.Service): Record<string, Rpc>;
      }
    ).getServiceMethods(service);
  const decode: Decoder = (rpc, ok, body) => {
    if (!ok || !PLAIN_JSON_RPCS.has(rpc.fullName)) return rest.decodeResponse(rpc, ok, body);
    const text = new TextDecoder().decode(body);
    if (!text) throw new Error(`Received null response from RPC ${rpc.name}`);
    return JSON.parse(text) as unknown;
  };
  class LeanGrpcClient extends gax.fallback.GrpcClient {
    override async createStub(
      service: Gax.protobuf.Service,
      opts: StubOptions,
      customServicePath?: boolean,
    ) {
      // gax's own stub first: it resolves the credentials and checks the universe domain.
      await super.createStub(service, opts, customServicePath);
      const [host, port] = endpointOf(service, opts);
      return generateServiceStub(
        serviceMethods(service),
        opts.protocol ?? 'https',
        host,
        port,
        this.auth ?? this.authClient,
        rest.encodeRequest,
        decode,
        this.numericEnums,
        this.minifyJson,
      ) as Awaited<ReturnType<Gax.fallback.GrpcClient['createStub']>>;
    }
  }
  return { ...gax, fallback: { ...gax.fallback, GrpcClient: LeanGrpcClient } };
}
