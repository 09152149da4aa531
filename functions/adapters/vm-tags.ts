/**
 * The Resource Manager tags port: the tags in effect on VMs (bound to each or inherited from its
 * project, folder or organization), read with `effectiveTags.list` on the VM's zone's own
 * endpoint (`ZONE-cloudresourcemanager.googleapis.com`); a VM's full resource name is
 * `//compute.googleapis.com/projects/P/zones/Z/instances/ID`. One call per VM, so callers ask
 * only for the VMs a decision turns on; the calls run with bounded concurrency.
 */
import type { TagBindingsClient } from '@google-cloud/resource-manager';
import { settleAll } from '../core/concurrency.js';
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';
import { vmKey, type Vm, type VmTags } from '../core/vm.js';

// The most effective tags Resource Manager returns in one page.
const PAGE_SIZE = 300;

export interface VmTagReader {
  /**
   * The tags of each VM by `vmKey`; a VM whose tags could not be read (after retries) has no
   * entry, and the failure is logged.
   */
  tagsOf(vms: readonly Vm[]): Promise<Map<string, VmTags>>;
}

export interface VmTagDirectoryOptions {
  logger: Logger;
  /** Reads in flight at once. */
  concurrency?: number;
  retry?: RetryOptions;
}

/** The full resource name Resource Manager knows a Compute instance by. */
export function instanceResourceName(vm: Pick<Vm, 'project' | 'zone' | 'id'>): string {
  return `//compute.googleapis.com/projects/${vm.project}/zones/${vm.zone}/instances/${vm.id}`;
}

/** `123/costguard-priority/critical` → `critical`. */
function shortValue(namespaced: string): string {
  return namespaced.slice(namespaced.lastIndexOf('/') + 1);
}

export class VmTagDirectory implements VmTagReader {
  constructor(
    private readonly client: (
      location: string,
    ) => Promise<Pick<TagBindingsClient, 'listEffectiveTags'>>,
    private readonly options: VmTagDirectoryOptions,
  ) {}

  async tagsOf(vms: readonly Vm[]): Promise<Map<string, VmTags>> {
    const { logger } = this.options;
    const read = await settleAll(vms, this.options.concurrency ?? 20, (vm) => this.read(vm));
    const found = new Map<string, VmTags>();
    read.forEach((result, i) => {
      const vm = vms[i] as Vm;
      if (result.status === 'fulfilled') {
        found.set(vmKey(vm), result.value);
      } else {
        logger.warn('VM tags unavailable; the VM is spared', {
          vm: vmKey(vm),
          status: httpStatusOf(result.reason),
          error: result.reason,
        });
      }
    });
    return found;
  }

  private async read(vm: Vm): Promise<VmTags> {
    const client = await this.client(vm.zone);
    const parent = instanceResourceName(vm);
    const [tags] = await withRetry(
      () => client.listEffectiveTags({ parent, pageSize: PAGE_SIZE }),
      loggedRetries(this.options.logger, 'listEffectiveTags', this.options.retry, {
        vm: vmKey(vm),
      }),
    );
    const out: Record<string, string> = {};
    for (const tag of tags) {
      if (tag.namespacedTagKey && tag.namespacedTagValue) {
        out[tag.namespacedTagKey] = shortValue(tag.namespacedTagValue);
      }
    }
    return out;
  }
}
