// Click-to-load video: the embed (youtube-nocookie.com) is created only after the reader asks for it,
// so opening a lesson contacts no video host.
export function initVideo(root) {
  const button = root.querySelector(".course-video__play");
  const status = root.querySelector(".course-video__status");
  button.addEventListener("click", () => {
    if (navigator.onLine === false) {
      status.textContent = "You seem to be offline, so the video cannot load. Use the YouTube link when you are back online.";
      return;
    }
    const frame = document.createElement("iframe");
    frame.className = "course-video__frame";
    frame.src = root.dataset.embed;
    frame.title = root.dataset.title || "Video";
    frame.allow = "autoplay; encrypted-media; picture-in-picture; fullscreen";
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    frame.allowFullscreen = true;
    button.replaceWith(frame);
    status.textContent = "Loading the player from youtube-nocookie.com. If it stays blank, the video host is blocked here: use the link.";
    frame.focus();
  });
}
