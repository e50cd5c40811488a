// HLS playback: native where the browser has it (Safari), else hls.js over
// Media Source Extensions. The worker is off: the CSP allows no blob: scripts.
import Hls from 'hls.js';

export function playHLS(video, src) {
  if (video.canPlayType('application/vnd.apple.mpegurl') && !Hls.isSupported()) {
    video.src = src;
    return () => { video.pause(); video.removeAttribute('src'); video.load(); };
  }
  if (!Hls.isSupported()) {
    video.src = src;
    return null;
  }
  const hls = new Hls({ enableWorker: false, xhrSetup: (xhr) => { xhr.withCredentials = true; } });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
    else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else hls.destroy();
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  video.dataset.player = 'hls.js';
  return () => hls.destroy();
}
