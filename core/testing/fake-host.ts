// One fake API server and a client of it shared by the tests of one file (fakeApiServerFor in
// fake-api-server.ts gives one per test): the before/after hooks every store test would repeat.
import { after, before } from 'node:test';
import { KubeClient } from '../kube/kube-client.ts';
import { FakeApiServer } from './fake-api-server.ts';

export interface FakeHost {
  /** The server; valid from the first test on. */
  readonly fake: FakeApiServer;
  /** A client of it; valid from the first test on. */
  readonly client: KubeClient;
}

/**
 * Registers hooks that start a fake API server before the file's first test (calling `setUp` on it,
 * e.g. to add custom resources) and close the client and the server after the last one.
 */
export function fakeHostPerFile(setUp?: (fake: FakeApiServer) => void): FakeHost {
  let state: { fake: FakeApiServer; client: KubeClient } | undefined;
  const started = (): { fake: FakeApiServer; client: KubeClient } => {
    if (state === undefined) throw new Error('the fake host is started by a before() hook: use it inside a test');
    return state;
  };
  before(async () => {
    const fake = await FakeApiServer.start();
    setUp?.(fake);
    state = { fake, client: new KubeClient(fake.kubeConfig()) };
  });
  after(async () => {
    if (state === undefined) return;
    await state.client.close();
    await state.fake.close();
  });
  return {
    get fake() {
      return started().fake;
    },
    get client() {
      return started().client;
    },
  };
}
