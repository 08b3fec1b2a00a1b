/** What just happened, in words: a polite status line, or an alert for a failure. */
export interface Notice {
  kind: 'status' | 'error';
  text: string;
}

export function Notices(props: { notice: Notice | null; onDismiss: () => void }) {
  return (
    <>
      <div role="status" className="notice status" hidden={props.notice?.kind !== 'status'}>
        {props.notice?.kind === 'status' ? props.notice.text : ''}
      </div>
      {props.notice?.kind === 'error' && (
        <div role="alert" className="notice error">
          <span>{props.notice.text}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={props.onDismiss}>
            ×
          </button>
        </div>
      )}
    </>
  );
}

/**
 * Runs one action a person asked for and says how it went: `done` as a status, or `failed` and
 * the server's words as an alert. It does not throw, so the page reads its table again either way.
 */
export async function runAndNotify(notify: (n: Notice) => void, action: () => Promise<unknown>, done: string, failed: string): Promise<void> {
  try {
    await action();
    notify({ kind: 'status', text: done });
  } catch (err) {
    notify({ kind: 'error', text: `${failed}: ${(err as Error).message}` });
  }
}
