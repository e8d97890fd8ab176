import { Module } from '@nestjs/common';
import { JwtKeys } from './jwt-keys';

@Module({ providers: [JwtKeys], exports: [JwtKeys] })
export class JwtKeysModule {}
