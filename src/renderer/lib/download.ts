/**
 * Hand `base64` bytes to the browser as a file download named `fileName` (the browser's own save
 * flow; in the desktop app, Electron's save dialog). Returns once the download was started.
 */
export function downloadBase64(fileName: string, base64: string, type = 'application/gzip'): void {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; the URL can go once this task is over.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
