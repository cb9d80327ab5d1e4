/** Runs a plan's steps and files; the only part of service/task management that touches the system. */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { logger } from '../../../logging/logger.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import { explainExit, type Step } from './plan.js';

const log = logger('service');

export interface StepResult {
  code: number;
  output: string;
}

export type StepRunner = (step: Step) => Promise<StepResult>;

export const runStep: StepRunner = (step) =>
  new Promise((resolve, reject) => {
    execFile(step.file, step.args, { windowsHide: true }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
        reject(new CliError('ERR_NOT_SUPPORTED', `${step.file} could not be run (${error.message}); it is needed to manage services and tasks`, ExitCode.NotSupported));
        return;
      }
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output });
    });
  });

export async function runPlan(
  plan: { files: Array<{ path: string; content: string; encoding?: 'utf8' | 'utf16le' }>; removeFiles: string[]; steps: Step[] },
  run: StepRunner = runStep,
): Promise<void> {
  for (const file of plan.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    // UTF-16 with its byte-order mark: what schtasks /XML reads without guessing.
    writeFileSync(file.path, file.encoding === 'utf16le' ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(file.content, 'utf16le')]) : file.content);
  }
  for (const step of plan.steps) {
    log.verbose(`${step.file} ${step.args.join(' ')}`);
    const { code, output } = await run(step);
    if (code !== 0 && !(step.okCodes ?? []).includes(code)) {
      const explained = explainExit(step.file, code, output);
      const exit = explained.code === 'ERR_ACCESS_DENIED' ? ExitCode.Failure : explained.code === 'ERR_NOT_FOUND' ? ExitCode.NotFound : ExitCode.Failure;
      throw new CliError(explained.code, explained.message, exit);
    }
  }
  for (const path of plan.removeFiles) rmSync(path, { force: true });
}
