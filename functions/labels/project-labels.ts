import type { ProjectsClient } from '@google-cloud/resource-manager';
import { isNotFound, httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { withRetry, type RetryOptions } from '../core/retry.js';

/**
 * The labels of a Google Cloud project (Resource Manager `projects.get`), from which the label
 * policy may derive a VM's defaults. A project whose labels cannot be read counts as having
 * none: its VMs are still checked, only that kind of default is unavailable (and logged).
 */
export interface ProjectLabelSource {
  labelsOf(project: string): Promise<Readonly<Record<string, string>>>;
}

export const noProjectLabels: ProjectLabelSource = { labelsOf: () => Promise.resolve({}) };

/** Reads each project at most once during one run (a sweep asks for every VM). */
export function memoiseProjectLabels(source: ProjectLabelSource): ProjectLabelSource {
  const cache = new Map<string, Promise<Readonly<Record<string, string>>>>();
  return {
    labelsOf(project) {
      let labels = cache.get(project);
      if (!labels) {
        labels = source.labelsOf(project);
        cache.set(project, labels);
      }
      return labels;
    },
  };
}

export class ResourceManagerProjectLabels implements ProjectLabelSource {
  constructor(
    private readonly client: () => Promise<Pick<ProjectsClient, 'getProject'>>,
    private readonly options: { logger: Logger; retry?: RetryOptions },
  ) {}

  async labelsOf(project: string): Promise<Readonly<Record<string, string>>> {
    try {
      const client = await this.client();
      const [found] = await withRetry(() => client.getProject({ name: `projects/${project}` }), {
        ...this.options.retry,
        onRetry: (error, attempt) =>
          this.options.logger.warn('Retrying projects.get', { project, attempt, error }),
      });
      return { ...(found.labels ?? {}) };
    } catch (error) {
      this.options.logger.warn('Project labels unavailable; defaults from them are skipped', {
        project,
        status: httpStatusOf(error),
        notFound: isNotFound(error),
        error,
      });
      return {};
    }
  }
}
