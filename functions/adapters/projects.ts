import type { ProjectsClient } from '@google-cloud/resource-manager';
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { withRetry, type RetryOptions } from '../core/retry.js';

/**
 * The Resource Manager port: project number to project id. Budgets name projects by number,
 * Compute by id. The mapping never changes, so answers are kept for the life of the instance.
 */
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

  private async lookUp(numberOrId: string): Promise<string | undefined> {
    const client = await this.client();
    try {
      const [project] = await withRetry(
        () => client.getProject({ name: `projects/${numberOrId}` }),
        {
          ...this.options.retry,
          onRetry: (error, attempt) =>
            this.options.logger.warn('Retrying getProject', {
              project: numberOrId,
              attempt,
              error,
            }),
        },
      );
      return project.projectId ?? undefined;
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
}
