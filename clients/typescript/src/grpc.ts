// Loading the flowmonkey.v1 contract at run time and calling it with promises.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { isIdempotent } from './retry';

export { status as Code } from '@grpc/grpc-js';

export interface ConnectOptions {
  /** host:port of a FlowMonkey Store server. Default 127.0.0.1:50051. */
  target?: string;
  /** Channel credentials; default plain text (grpc.credentials.createSsl(...) for TLS). */
  credentials?: grpc.ChannelCredentials;
  /** Sent as "authorization: Bearer <key>" on every call (servers accept keys only over TLS). */
  apiKey?: string;
  /** Per-call deadline in milliseconds. Default 10,000. */
  timeoutMs?: number;
  /** Directory holding flowmonkey/v1/*.proto; default the package's own copy (proto/). */
  protoRoot?: string;
  /**
   * Attempts per unary call, the first included (default 3; 1: never retry). Retried:
   * UNAVAILABLE always, UNKNOWN only for calls that are safe to repeat (src/retry.ts).
   */
  maxAttempts?: number;
  /** Pause before the first retry in ms, doubled for each next one. Default 50. */
  initialBackoffMs?: number;
}

/** A server answer that is not OK, with the gRPC status code (Code.NOT_FOUND, ...). */
export type CallError = grpc.ServiceError;

export function isCode(error: unknown, code: grpc.status): boolean {
  return typeof error === 'object' && error !== null && (error as CallError).code === code;
}

// The package's own copy (dist/cjs/ → ../../proto): nothing outside the package is read.
function defaultProtoRoot(): string {
  const dir = join(__dirname, '..', '..', 'proto');
  if (existsSync(join(dir, 'flowmonkey', 'v1'))) return dir;
  throw new Error(`flowmonkey protos not found in ${dir}`);
}

// longs: Number (ms timestamps fit in 2^53), enums: String (names), defaults: true (so
// absent scalars read as 0/''), oneofs: true; optional fields stay undefined when unset
// because proto-loader reports proto3 `optional` as synthetic oneofs.
const kLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: any) => void) => grpc.ClientUnaryCall;

/** One gRPC service client whose methods return promises. */
export class ServiceClient {
  constructor(private readonly client: grpc.Client, private readonly connection: Connection,
    private readonly serviceName: string = '') {}

  /** A unary call, retried with backoff where that is safe (src/retry.ts). */
  async call<T = any>(method: string, request: object): Promise<T> {
    const idempotent = isIdempotent(this.serviceName, method, request);
    let backoff = this.connection.initialBackoffMs;
    for (let attempt = 1; ; ++attempt) {
      try {
        return await this.callOnce<T>(method, request);
      } catch (error) {
        const code = (error as CallError).code;
        const retryable = code === grpc.status.UNAVAILABLE || (idempotent && code === grpc.status.UNKNOWN);
        if (!retryable || attempt >= this.connection.maxAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff *= 2;
      }
    }
  }

  private callOnce<T>(method: string, request: object): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method];
    if (typeof fn !== 'function') throw new Error(`no such method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, this.connection.metadata(), this.connection.callOptions(),
        (error, response) => (error ? reject(error) : resolve(response as T)));
    });
  }

  /** A client-streaming call: sends every request, answers the one response. */
  clientStream<T = any>(method: string, requests: object[]): Promise<T> {
    const fn = (this.client as unknown as Record<string, Function>)[method];
    if (typeof fn !== 'function') throw new Error(`no such method ${method}`);
    return new Promise<T>((resolve, reject) => {
      const call = fn.call(this.client, this.connection.metadata(), this.connection.callOptions(),
        (error: grpc.ServiceError | null, response: any) => (error ? reject(error) : resolve(response as T)));
      for (const request of requests) call.write(request);
      call.end();
    });
  }

  /** A server-streaming call, collected: answers every message in order. */
  serverStream<T = any>(method: string, request: object): Promise<T[]> {
    const fn = (this.client as unknown as Record<string, Function>)[method];
    if (typeof fn !== 'function') throw new Error(`no such method ${method}`);
    return new Promise<T[]>((resolve, reject) => {
      const messages: T[] = [];
      const call = fn.call(this.client, request, this.connection.metadata(), this.connection.callOptions());
      call.on('data', (message: T) => messages.push(message));
      call.on('error', reject);
      call.on('end', () => resolve(messages));
    });
  }

  /**
   * A bidirectional stream, open until either side ends it: no deadline (timeoutMs bounds
   * unary calls only), the API key in its metadata. UNIMPLEMENTED when the loaded contract
   * has no such method.
   */
  duplex(method: string): grpc.ClientDuplexStream<object, any> {
    const fn = (this.client as unknown as Record<string, Function>)[method];
    if (typeof fn !== 'function') throw unimplemented(`${this.serviceName}.${method} is not in the loaded protos`);
    return fn.call(this.client, this.connection.metadata(), {});
  }

  stream<T = any>(method: string, request: object): AsyncIterable<T> {
    const fn = (this.client as unknown as Record<string, Function>)[method];
    return fn.call(this.client, request, this.connection.metadata(), this.connection.callOptions());
  }

  close(): void {
    this.client.close();
  }
}

function unimplemented(message: string): CallError {
  return Object.assign(new Error(`${grpc.status.UNIMPLEMENTED} UNIMPLEMENTED: ${message}`),
    { code: grpc.status.UNIMPLEMENTED, details: message, metadata: new grpc.Metadata() });
}

class MissingService extends ServiceClient {
  constructor(private readonly name: string, connection: Connection) {
    super(null as unknown as grpc.Client, connection);
  }

  override async call<T>(method: string): Promise<T> {
    const error = Object.assign(new Error(`${grpc.status.UNIMPLEMENTED} UNIMPLEMENTED: ${this.name} is not in the loaded protos (${method})`),
      { code: grpc.status.UNIMPLEMENTED, details: '', metadata: new grpc.Metadata() });
    return Promise.reject(error);
  }

  override clientStream<T>(method: string): Promise<T> {
    return this.call<T>(method);
  }

  override serverStream<T>(method: string): Promise<T[]> {
    return this.call<T[]>(method);
  }

  override duplex(method: string): grpc.ClientDuplexStream<object, any> {
    throw unimplemented(`${this.name} is not in the loaded protos (${method})`);
  }

  override close(): void {}
}

/** The loaded contract plus a channel's settings; hands out one client per service. */
export class Connection {
  private readonly pkg: grpc.GrpcObject;
  private readonly clients = new Map<string, ServiceClient>();
  readonly target: string;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly timeoutMs: number;
  private readonly apiKey?: string;
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;

  constructor(options: ConnectOptions = {}) {
    const root = options.protoRoot ?? defaultProtoRoot();
    const v1 = join(root, 'flowmonkey', 'v1');
    const files = readdirSync(v1).filter((f) => f.endsWith('.proto')).map((f) => join(v1, f));
    files.push(join(root, 'grpc', 'health', 'v1', 'health.proto'));
    const definition = protoLoader.loadSync(files, { ...kLoaderOptions, includeDirs: [root] });
    this.pkg = grpc.loadPackageDefinition(definition);
    this.target = options.target ?? '127.0.0.1:50051';
    this.credentials = options.credentials ?? grpc.credentials.createInsecure();
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.apiKey = options.apiKey;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.initialBackoffMs = options.initialBackoffMs ?? 50;
  }

  /** True when the loaded contract has this service (e.g. 'flowmonkey.v1.JobStore'). */
  hasService(name: string): boolean {
    return typeof this.lookup(name) === 'function';
  }

  service(name: string): ServiceClient {
    let client = this.clients.get(name);
    if (!client) {
      const ctor = this.lookup(name) as grpc.ServiceClientConstructor | undefined;
      // A service missing from the loaded protos answers every call UNIMPLEMENTED, as a
      // server without it would.
      client = typeof ctor === 'function'
        ? new ServiceClient(new ctor(this.target, this.credentials), this, name)
        : new MissingService(name, this);
      this.clients.set(name, client);
    }
    return client;
  }

  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.apiKey) metadata.set('authorization', `Bearer ${this.apiKey}`);
    return metadata;
  }

  callOptions(): grpc.CallOptions {
    return { deadline: Date.now() + this.timeoutMs };
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private lookup(name: string): unknown {
    let node: unknown = this.pkg;
    for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
    return node;
  }
}
