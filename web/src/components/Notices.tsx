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
