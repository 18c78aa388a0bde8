/**
 * The table of APIs this broker speaks: the single place that lists them. The broker
 * routes requests through it and answers ApiVersions from it; the client checks a
 * broker's ApiVersions answer against it. A later phase adds an API by adding a codec
 * file and one line here.
 */
import type { ApiCodec, ResponseBase } from './api.ts';
import { ApiVersions, type ApiVersionRange } from './api-versions.ts';
import { CreateTopics } from './create-topics.ts';
import { DescribeGroups } from './describe-groups.ts';
import { Fetch } from './fetch.ts';
import { FindCoordinator } from './find-coordinator.ts';
import { Heartbeat } from './heartbeat.ts';
import { JoinGroup } from './join-group.ts';
import { LeaveGroup } from './leave-group.ts';
import { ListGroups } from './list-groups.ts';
import { ListOffsets } from './list-offsets.ts';
import { Metadata } from './metadata.ts';
import { OffsetCommit } from './offset-commit.ts';
import { OffsetFetch } from './offset-fetch.ts';
import { OffsetForLeaderEpoch } from './offset-for-leader-epoch.ts';
import { Produce } from './produce.ts';
import { SyncGroup } from './sync-group.ts';

/**
 * A codec with its request type erased, for tables. (Method parameters are bivariant, so
 * every `ApiCodec<Req, Res>` fits; route typed requests with the codec itself.)
 */
export type AnyApiCodec = ApiCodec<unknown, ResponseBase>;

/** Every API of this phase, by ascending api key. */
export const APIS: readonly AnyApiCodec[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  ApiVersions,
  CreateTopics,
  OffsetForLeaderEpoch,
];

/**
 * The codec for an api key, or undefined for a key this phase does not know.
 * @example apiByKey(18)?.name // 'ApiVersions'
 */
export function apiByKey(apiKey: number): AnyApiCodec | undefined {
  for (const api of APIS) if (api.apiKey === apiKey) return api;
  return undefined;
}

/** The ApiVersions answer: each API's supported version range. */
export function supportedVersions(): ApiVersionRange[] {
  return APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));
}
