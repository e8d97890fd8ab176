import { ApiProperty } from '@nestjs/swagger';

export class ProtectedUserDto {
  @ApiProperty({ example: '0b6f8f4e-3c1a-4b8e-9a63-5f1d2c7e9a10' })
  id!: string;

  @ApiProperty({ example: 'abc@abc.com' })
  email!: string;
}

export class ProtectedResponseDto {
  @ApiProperty({ example: 'Hello, abc@abc.com! You have access to this protected route.' })
  message!: string;

  @ApiProperty({ type: ProtectedUserDto })
  user!: ProtectedUserDto;
}

export class MessageResponseDto {
  @ApiProperty({ example: 'Token has been revoked' })
  message!: string;
}
