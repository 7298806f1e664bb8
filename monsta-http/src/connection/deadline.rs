//! [`DeadlineIo`]: a connection's IO whose writes have a deadline.

use std::{
    io,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll, ready},
    time::Duration,
};

use hyper::rt::{Read, ReadBufCursor, Write};
use tokio::time::{Instant, Sleep};

use super::Activity;

/// A connection's IO whose writes have a deadline: a write (or flush, or
/// shutdown) that stays pending for `timeout` without any progress fails
/// with [`io::ErrorKind::TimedOut`], which closes the connection. Every
/// write that completes re-arms the deadline, so a slow but steady reader is
/// not cut. While a write is pending the connection's [`Activity`] counts
/// it as busy, so a blocked write is never taken for an idle connection.
pub(crate) struct DeadlineIo<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
    activity: Arc<Activity>,
}

impl<T> DeadlineIo<T> {
    pub(crate) fn new(inner: T, timeout: Duration, activity: Arc<Activity>) -> Self {
        DeadlineIo {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
            activity,
        }
    }

    fn arm(&mut self, armed: bool) {
        if self.armed != armed {
            self.armed = armed;
            self.activity.writing.store(armed, Ordering::Release);
            if !armed {
                self.activity.touch();
            }
        }
    }

    /// `poll` as the result of a write: arms the deadline when it is pending
    /// (if not armed yet), disarms it when it is ready, and turns a pending
    /// write past the deadline into an error.
    fn deadline<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.arm(false);
            return poll;
        }
        if !self.armed {
            self.arm(true);
            self.sleep.as_mut().reset(Instant::now() + self.timeout);
        }
        ready!(self.sleep.as_mut().poll(cx));
        self.arm(false);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("a response write made no progress for {:?}", self.timeout),
        )))
    }
}

impl<T: Read + Unpin> Read for DeadlineIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for DeadlineIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.deadline(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.deadline(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.deadline(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.deadline(cx, poll)
    }
}
