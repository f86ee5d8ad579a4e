//! Agent popups: logged (masked) and acknowledged.

use handlers::params::CallParams;
use handlers::popup::{self, Popup};
use handlers::reply::Reply;

/// Records the popup and answers 200.
pub fn handle_popup(p: &CallParams) -> Reply {
    worker::console_log!("{}", Popup::from_params(p).log_line());
    popup::reply()
}
