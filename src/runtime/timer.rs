//! The worker's one timer: a future that is ready after some milliseconds.
//!
//! Why not `worker::Delay`: it keeps the waker of its first poll and never
//! the later ones. The fetch entry (src/lib.rs) polls a request's future
//! once with a no-op waker before handing it to `future_to_promise`, which
//! polls it again with the real one; a timer holding on to the first waker
//! would never wake the request (a hung KV read would then hang the caller
//! instead of running out of budget). This one wakes whichever waker polled
//! it last, as a future must.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::{wasm_bindgen, Closure, JsValue};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Closure<dyn FnMut()>, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// What the timer's callback and its future share.
#[derive(Default)]
struct Shared {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// Ready once `ms` milliseconds have passed since its first poll.
pub struct Sleep {
    ms: u64,
    shared: Rc<Shared>,
    /// The armed timer: its callback (kept alive while armed) and its id.
    armed: Option<(Closure<dyn FnMut()>, JsValue)>,
}

/// A timer of `ms` milliseconds (0: the next turn of the event loop).
pub fn sleep(ms: u64) -> Sleep {
    Sleep {
        ms,
        shared: Rc::default(),
        armed: None,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.fired.get() {
            return Poll::Ready(());
        }
        *this.shared.waker.borrow_mut() = Some(cx.waker().clone());
        if this.armed.is_none() {
            let shared = Rc::clone(&this.shared);
            let callback = Closure::<dyn FnMut()>::new(move || {
                shared.fired.set(true);
                if let Some(w) = shared.waker.borrow_mut().take() {
                    w.wake();
                }
            });
            // Milliseconds as JS numbers are f64; a budget is far below 2^53.
            let id = set_timeout(&callback, this.ms as f64);
            this.armed = Some((callback, id));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((_, id)) = &self.armed {
            if !self.shared.fired.get() {
                clear_timeout(id);
            }
        }
    }
}
