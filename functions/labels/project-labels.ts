/**
 * Where the label policy reads project labels from (the Resource Manager port,
 * `ProjectDirectory.labelsOf`, in production).
 */
export interface ProjectLabelSource {
  labelsOf(project: string): Promise<Readonly<Record<string, string>>>;
}

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
