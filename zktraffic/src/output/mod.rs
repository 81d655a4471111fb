//! Turning events into text: one human line per event (like tcpdump), or one
//! JSON object per event in the zkops event schema.

pub mod human;
pub mod json;
pub mod sinks;

use crate::model::Event;

/// Which events the line outputs show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Requests never answered and replies whose request was not seen.
    pub unpaired: bool,
    pub pings: bool,
}

impl Filter {
    pub fn wants(&self, e: &Event) -> bool {
        match e {
            Event::Exchange(x) => {
                if x.op == Some(zkproto::OpCode::Ping) && !self.pings {
                    return false;
                }
                self.unpaired || (x.request_ts.is_some() && x.reply_ts.is_some())
            }
            _ => true,
        }
    }
}
