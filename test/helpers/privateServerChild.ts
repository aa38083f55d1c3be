// A process that starts a private PostgreSQL (its own process group) and a private S3Proxy (in this
// process's group), prints their pids and folders as one JSON line, and waits to be killed: the
// parent-death test (private-guard.test.ts) SIGKILLs it and checks that nothing of them is left.
import { startPrivatePostgres } from './privatePostgres.ts';
import { startPrivateS3 } from './privateS3.ts';

const pg = await startPrivatePostgres();
const s3 = await startPrivateS3();
console.log(
  JSON.stringify({
    servers: [
      { name: 'PostgreSQL', pid: pg.pid(), dir: pg.dir },
      { name: 'S3Proxy', pid: s3.pid(), dir: s3.dir },
    ],
  }),
);
setInterval(() => {}, 60_000);
