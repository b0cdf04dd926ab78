import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { InstanceIdentity } from '@agenstra/shared';

/** The id this controller installation generated at its first start. */
@Entity({ tableName: 'controller_instance' })
export class ControllerInstance implements InstanceIdentity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
