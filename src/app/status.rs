//! The lines every job shows while it runs and when it fails: a progress bar with its stage, and
//! an error with its stable kind (for tests and bug reports).

use leptos::prelude::*;

use crate::protocol::ErrorReport;

/// A progress bar and "stage… 42%". `testid` names the block, `status_testid` the text.
pub fn progress_line(stage: &str, fraction: f64, testid: &'static str, status_testid: &'static str) -> AnyView {
    view! {
        <div class="progress" data-testid=testid>
            <progress max="1" value=fraction></progress>
            <span data-testid=status_testid>{format!("{stage}… {:.0}%", fraction * 100.0)}</span>
        </div>
    }
    .into_any()
}

/// An alert with the error's message, after `lead` (bold; may be empty); `data-kind` is the
/// error's kind.
pub fn error_line(error: ErrorReport, lead: &'static str, testid: &'static str) -> AnyView {
    view! {
        <p class="error" role="alert" data-testid=testid data-kind=error.kind>
            {(!lead.is_empty()).then(|| view! { <strong>{lead}</strong> })}
            {error.message}
        </p>
    }
    .into_any()
}

/// [`error_line`], with a "Try again" button when the error is a failed download (kind `fetch`:
/// the network or the server may come back) or a crashed worker (kind `worker-crashed`: a fresh
/// one has started): `retry` runs the job again.
pub fn error_line_with_retry(error: ErrorReport, lead: &'static str, testid: &'static str, retry: impl Fn() + 'static) -> AnyView {
    let can_retry = matches!(error.kind.as_str(), "fetch" | "worker-crashed");
    view! {
        <div class="error-block">
            {error_line(error, lead, testid)}
            {can_retry.then(|| view! {
                <button class="retry" data-testid=format!("{testid}-retry") on:click=move |_| retry()>"Try again"</button>
            })}
        </div>
    }
    .into_any()
}
