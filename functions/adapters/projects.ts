/**
 * The Resource Manager port: project number to project id (budgets name projects by number,
 * Compute by id; the mapping never changes, so answers are kept for the life of the instance),
 * and a project's labels, from which the label policy may derive a VM's defaults.
 */

import type { ProjectsClient } from '@google-cloud/resource-manager';
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

export interface ProjectDirectoryOptions {
  logger: Logger;
  retry?: RetryOptions;
}

export class ProjectDirectory {
  private readonly known = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly client: () => Promise<Pick<ProjectsClient, 'getProject'>>,
    private readonly options: ProjectDirectoryOptions,
  ) {}

  /**
   * The id of a project given its number (or id), or undefined when Resource Manager says it
   * does not exist or may not be read: it answers 403 for both, so as not to reveal which.
   */
  idOf(numberOrId: string): Promise<string | undefined> {
    let answer = this.known.get(numberOrId);
    if (!answer) {
      answer = this.lookUp(numberOrId);
      this.known.set(numberOrId, answer);
      // Only a found id is remembered: access may be granted later, and failures may pass.
      void answer.then(
        (id) => id === undefined && this.known.delete(numberOrId),
        () => this.known.delete(numberOrId),
      );
    }
    return answer;
  }

  /**
   * A project's labels. A project whose labels cannot be read counts as having none: its VMs
   * are still checked, only defaults from project labels are unavailable (and logged).
   */
  async labelsOf(project: string): Promise<Readonly<Record<string, string>>> {
    try {
      return { ...((await this.read(project)).labels ?? {}) };
    } catch (error) {
      this.options.logger.warn('Project labels unavailable; defaults from them are skipped', {
        project,
        status: httpStatusOf(error),
        error,
      });
      return {};
    }
  }

  private async lookUp(numberOrId: string): Promise<string | undefined> {
    try {
      return (await this.read(numberOrId)).projectId ?? undefined;
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 403 || status === 404) {
        this.options.logger.warn('Project cannot be resolved; it is left out of scope', {
          project: numberOrId,
          error,
        });
        return undefined;
      }
      throw error;
    }
  }

  private async read(numberOrId: string) {
    const client = await this.client();
    const [project] = await withRetry(
      () => client.getProject({ name: `projects/${numberOrId}` }),
      loggedRetries(this.options.logger, 'getProject', this.options.retry, {
        project: numberOrId,
      }),
    );
    return project;
  }
}
