// client.uploads.createFromLocalFile: POST /upload-requests, PUT of the bytes to the URL
// answered, POST /uploads with the request's id as `path`; then again with
// skipCreationIfAlreadyExists, which finds the first by md5 instead of creating one;
// then a plain GET of the upload's url.
import { createHash } from 'node:crypto';
import { input, run } from './lib.mjs';

await run(async (client) => {
  const progress = [];
  const upload = await client.uploads.createFromLocalFile({
    localPath: input.path,
    filename: 'hello-client.txt',
    author: 'Ada Lovelace',
    copyright: '2026 Ada Lovelace',
    notes: 'Uploaded by the CMA client',
    tags: ['client', 'text'],
    onProgress: (info) => progress.push(info.type),
  });
  const again = await client.uploads.createFromLocalFile({
    localPath: input.path,
    skipCreationIfAlreadyExists: true,
  });
  const response = await fetch(upload.url);
  const bytes = Buffer.from(await response.arrayBuffer());
  const download = { status: response.status, md5: createHash('md5').update(bytes).digest('hex') };
  return { upload, again, download, progress: [...new Set(progress)] };
});
