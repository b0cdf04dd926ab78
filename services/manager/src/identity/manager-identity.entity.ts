import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { InstanceIdentity } from '@agenstra/shared';

/** The id this manager generated at its first start; used when MANAGER_ID is not set. */
@Entity({ tableName: 'manager_identity' })
export class ManagerIdentity implements InstanceIdentity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
