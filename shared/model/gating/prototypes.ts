/**
 * The gating model's training targets, from the DocIDs: one prototype row per second-level
 * DocID prefix (topic · cluster), so the row of each document and the topic of each row.
 */
export function gatingPrototypes(paths: readonly (readonly number[])[]): { docRows: Int32Array; rowTopics: Int32Array } {
  const rowOf = new Map<string, number>();
  const rowTopics: number[] = [];
  const docRows = Int32Array.from(paths, (p) => {
    const key = p.length > 2 ? `${p[0]}-${p[1]}` : `${p[0]}`;
    let row = rowOf.get(key);
    if (row === undefined) {
      row = rowTopics.length;
      rowOf.set(key, row);
      rowTopics.push(p[0]!);
    }
    return row;
  });
  return { docRows, rowTopics: Int32Array.from(rowTopics) };
}
