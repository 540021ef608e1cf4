import { Alert } from '../../components/Alert.js';

/** Someone saved the secret while it was being edited: what changed, and the two ways on. */
export function Conflict({
  secretKey,
  changes,
  before,
  after,
  onKeepMine,
  onTakeTheirs,
}: {
  secretKey: string;
  changes: { field: string; before: string; after: string }[];
  before: number;
  after: number;
  onKeepMine: (event: SubmitEvent) => void;
  onTakeTheirs: () => void;
}) {
  return (
    <Alert kind="error">
      <h2>Someone else changed {secretKey} while you were editing</h2>
      <p>
        Nothing was saved. It went from version {before} to version {after} meanwhile; here is what changed:
      </p>
      <table class="table compact">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">When you opened it</th>
            <th scope="col">Now</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((change) => (
            <tr key={change.field}>
              <th scope="row">{change.field}</th>
              <td>{change.before}</td>
              <td>{change.after}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">Values are never shown here: the value may have changed too.</p>
      <form class="button-row" onSubmit={onKeepMine}>
        <button type="submit" class="danger">
          Save mine over theirs
        </button>
        <button type="button" onClick={onTakeTheirs}>
          Discard mine, load theirs
        </button>
      </form>
    </Alert>
  );
}
